"""Training: configuration (`config`), what a run will train (`plan`, `resume`), the GAN step
(`step`), the run that drives it (`run`, with its data in `run_data` and its folder, lock and
files in `run_folder`), its event stream (`events`), trainer state (`state`), several processes
(`distributed`), and the run folder as the Train tab reads it (`run_files`, `runs`, `child`).

Nothing is imported here, so that `sketchpad.train.runs` and `run_files` load without torch.
"""
