"""PyNN standard models of the neurongpu backend: translations between PyNN's
names/units and the engine's model declarations."""
