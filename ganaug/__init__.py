"""ganaug: a conditional GAN that learns an imbalanced dataset's rare classes, served as extra training data."""
