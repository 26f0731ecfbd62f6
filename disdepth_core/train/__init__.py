"""Training: config, the shared trainer (AdamW + OneCycleLR, AMP on CUDA, DDP, resumable checkpoints)
and the three stages of the DisDepth workflow (supervised ``train``, ghost-decoder ``acclimate``,
``distill`` with attentive feature KD and Hu et al. output KD on unlabeled images).

Import submodules explicitly (``disdepth_core.train.runner.run_stage``, ``...config.load_config``);
this package imports nothing eagerly so the CLI stays fast.
"""
