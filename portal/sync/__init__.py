"""Procore → cBox synchronisation engine (SPEC R3, R7, R10, R13, R21; RELIABILITY 9-12, 16).

Generic plan/apply machinery over a per-tool Mapper (documents now; photos and drawings later).
"""
