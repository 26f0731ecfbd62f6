"""Pictures for humans: colour-mapped depth (rviz) and the PNG figures of the offline tools."""
