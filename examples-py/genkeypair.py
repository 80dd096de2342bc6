#!/usr/bin/env python3
"""Prints a new CURVE key pair for an efunguz (Z85, 40 characters each)."""

import emyzelium as emz

public, secret = emz.keypair()
print(f"public: {public}")
print(f"secret: {secret}")
