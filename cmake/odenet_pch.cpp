// The translation unit that builds the precompiled header the libraries reuse
// (cmake/odenet_pch.cmake); it has no code of its own.
