"""The Qt user interface — see issue [2/4]."""
