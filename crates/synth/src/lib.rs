//! mlytiles-synth (in progress).
