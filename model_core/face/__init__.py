"""The face's output channel spaces beside FLAME: Apple's ARKit-52 blendshape weights and the
Meta/Oculus 15 visemes (names, order, the layout of a generated face frame). Pure numpy."""
