"""The paper's studies: SFT plateau, RL ablations, final comparison, run report."""
