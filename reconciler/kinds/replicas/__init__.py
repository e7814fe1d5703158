"""kinds/replicas."""
