"""`disdepth make-sample-bag`: a real ROS 2 bag from the synthetic renderer (command, recording)."""
