"""Text processing for Taiwanese forum text: cleaning, segmentation, brand matching, 業配 rules.

Pure functions over strings; no I/O except loading the bundled dictionaries once.
"""
