// The translation unit that builds the precompiled header the programs reuse
// (cmake/odenet_pch.cmake): a program, so that it is compiled with the programs' flags.
int main() { return 0; }
