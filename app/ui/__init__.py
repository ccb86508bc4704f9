"""The Qt user interface: windows, widgets and table models over the console's workflow
(`app.console`); `launch` turns parsed arguments into a window."""
