"""Independent reference models, written in plain torch from the papers (and torchvision's / the
authors' published conventions), never from archc's lowering: their state_dicts, loaded into the
shipped specs, must give the same outputs."""
