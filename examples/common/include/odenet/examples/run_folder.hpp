#pragma once
// The output folder of an example run. Runs cannot destroy each other: a folder that already
// holds files is refused unless the user says what to do with them (--resume continues the run
// found there, --overwrite replaces it), and the refusal changes nothing in the folder. Before
// any work the folder is created and probed for writing, so an output that cannot be written
// fails at once and not after hours of training. Temporary files left by killed atomic saves
// (nn::write_file_atomic's "<file>.tmp-<pid>-<n>", PngImage::save_png's "<file>.tmp.<pid>") are
// removed when their process is gone.
#include <filesystem>
#include <string>
#include <vector>

namespace odenet::examples {

struct RunFolder {
    std::string program;               ///< starts every message ("mnist")
    std::string path;                  ///< the folder (--out)
    std::vector<std::string> outputs;  ///< the names of the files the program writes into it
    bool resume = false;               ///< continue the run found there (mnist --resume)
    bool overwrite = false;            ///< replace the run found there: its outputs are removed first
    bool can_resume = false;           ///< the program has --resume (the refusal then names it)
};

/// Creates run.path if needed and makes it ready for the run, in this order:
///  1. refuses a folder holding anything but stale temporaries unless resume or overwrite (IOError
///     naming the folder, a few of its files and the flags; nothing in the folder is changed);
///  2. removes stale temporaries of run.outputs (printed on stdout);
///  3. with overwrite, removes the outputs of the earlier run;
///  4. checks every output that exists is a regular file and that the folder is writable (a probe
///     file is created and removed).
/// Throws IOError(run.program, run.path, reason) on any failure, ValueError for resume with overwrite.
void prepare_run_folder(const RunFolder& run);

/// The temporary files of interrupted saves of `outputs` in `folder` whose process has ended.
std::vector<std::filesystem::path> stale_temporaries(const std::filesystem::path& folder,
                                                     const std::vector<std::string>& outputs);

}  // namespace odenet::examples
