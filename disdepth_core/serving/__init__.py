"""ROS-free parts of serving depth at camera rate: the newest-frame mailbox, health bookkeeping for
diagnostics, and the per-cause failure log. The ROS depth node is glue around them."""
