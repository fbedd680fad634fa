"""The Qt widgets of Sketchpad and the thread plumbing that feeds them. No model math here:
widgets ask the engine (through the inference worker) and draw what comes back."""
