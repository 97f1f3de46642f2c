"""buzon-masivo: bulk activation of the Buzón IMSS."""

__version__ = "0.1.0"
