"""The application layer: one plain function per command over request values, returning result
values. The CLI maps options to requests and renders results; `archc.api` exposes the same calls."""
