"""A real Slurm cluster on loopback (scripts/slurm-cluster), and what the Slurm executor relies on in it."""
