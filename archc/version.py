"""archc's version, importable by any stage (the sweep cache keys on it) without the package's API."""
VERSION = "0.1.0"
