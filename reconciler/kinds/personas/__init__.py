"""kinds/personas."""
