"""kinds/documents: the knowledge base (``/v2/documents``), asynchronous like replica training."""
