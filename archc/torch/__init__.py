"""Lowering the IR to a torch.nn.Module named by spec paths, seeded weights and provenance."""
