"""Measuring generated samples (FID/KID, PRDC, CAS, memorisation) and the quality gate for banks."""
