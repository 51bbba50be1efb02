//! BPStudio emulator (skeleton).
