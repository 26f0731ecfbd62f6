"""`disdepth eval-bag`: a model on a recorded bag, scored against its depth topic (command, config,
stamps pass, scale inputs, evaluation pass, results)."""
