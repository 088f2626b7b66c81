// Work-precision of odenet's implicit solvers on stiff problems (issue #21): odenet's rodas4,
// rosenbrock23, trbdf2 and dopri5 with stiff_switch = rodas4, next to SUNDIALS CVODE (BDF,
// dense direct solver, analytic Jacobian) in the same binary when CMake found SUNDIALS.
// One case per (problem, solver, rtol), rtol = 1e-3 .. 1e-8, named
//   stiff/<problem>/<solver>/rtol:<rtol>
// with counters scaled_error (at the end, against bench/stiff/references.inc; see
// bench/stiff/problems.hpp), nfe, njac, nlu, steps (accepted), rejected. Time: this thread's CPU
// time per solve (Google Benchmark's cpu_time). bench/stiff/work_precision runs this binary and
// SciPy's solvers (bench/stiff/scipy_peer.py) and draws the work-precision plot.
//
// Besides the benchmarks:
//   bench_stiff --stiff_dump                  f and J of every problem at two points (JSON), for
//                                             scipy_peer.py's check that the problems agree
//   bench_stiff --stiff_solve=<solver>,<rtol> the end state of every problem (JSON), for
//                                             make_references (solver: cvode or an odenet name)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <ctime>
#include <vector>

#include "stiff/problems.hpp"

#ifndef BENCH_STIFF_NO_ODENET
#include "odenet/ode.hpp"
#endif

#ifdef ODENET_BENCH_HAVE_SUNDIALS
#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>
#endif

namespace {

// The reference end states, name -> y(t_end).
const std::map<std::string, std::vector<double>> kReferences = {
#include "stiff/references.inc"
};

constexpr double kRtols[] = {1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8};
constexpr std::size_t kMaxSteps = 5'000'000;  // attempted steps; more counts as a failure

// What one solve reports, whichever solver ran it.
struct Outcome {
    std::vector<double> y;  // state at t_end
    double nfe = 0, njac = 0, nlu = 0, steps = 0, rejected = 0;
    double switches = 0, stiff_steps = 0;  // odenet's stiff_switch only
};

// ---- odenet ---------------------------------------------------------------------------------
#ifndef BENCH_STIFF_NO_ODENET
namespace ode = odenet::ode;

struct OdenetSolver {
    const char* name;
    ode::Method method;
    std::optional<ode::Method> stiff_switch;
};
const OdenetSolver kOdenetSolvers[] = {
    {"rodas4", ode::Method::rodas4, std::nullopt},
    {"rosenbrock23", ode::Method::rosenbrock23, std::nullopt},
    {"trbdf2", ode::Method::trbdf2, std::nullopt},
    {"dopri5+rodas4", ode::Method::dopri5, ode::Method::rodas4},
};

Outcome solve_odenet(const stiff::Problem& p, const OdenetSolver& s, double rtol, double atol) {
    ode::Options o;
    o.method = s.method;
    o.rtol = rtol;
    o.atol = atol;
    o.max_steps = kMaxSteps;
    o.autonomous = p.autonomous;
    o.jacobian = [&p](double t, std::span<const double> y, std::span<double> J) {
        p.jac(t, y.data(), J.data());
    };
    if (s.stiff_switch) o.stiff_switch = *s.stiff_switch;
    auto f = [&p](double t, const std::vector<double>& y, std::vector<double>& dydt) {
        p.f(t, y.data(), dydt.data());
    };
    const auto sol = ode::solve(f, p.y0, std::vector<double>{p.t0, p.t_end}, o);
    Outcome out;
    out.y = sol.ys.back();
    out.nfe = static_cast<double>(sol.stats.nfe);
    out.njac = static_cast<double>(sol.stats.njac);
    out.nlu = static_cast<double>(sol.stats.nlu);
    out.steps = static_cast<double>(sol.stats.accepted);
    out.rejected = static_cast<double>(sol.stats.rejected);
    out.switches = static_cast<double>(sol.stats.switches);
    out.stiff_steps = static_cast<double>(sol.stats.stiff_steps);
    return out;
}
#endif

// ---- SUNDIALS CVODE (BDF, dense direct linear solver, analytic Jacobian) ---------------------
#ifdef ODENET_BENCH_HAVE_SUNDIALS
SUNContext cvode_context() {
    static SUNContext ctx = [] {
        SUNContext c = nullptr;
        if (SUNContext_Create(nullptr, &c) != 0) throw std::runtime_error("SUNContext_Create failed");
        return c;
    }();
    return ctx;
}

int cvode_rhs(sunrealtype t, N_Vector y, N_Vector ydot, void* data) {
    const auto* p = static_cast<const stiff::Problem*>(data);
    p->f(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
    return 0;
}

int cvode_jac(sunrealtype t, N_Vector y, N_Vector, SUNMatrix J, void* data, N_Vector, N_Vector,
              N_Vector) {
    const auto* p = static_cast<const stiff::Problem*>(data);
    thread_local std::vector<double> rowmajor;
    const std::size_t n = p->n;
    rowmajor.resize(n * n);
    p->jac(t, N_VGetArrayPointer(y), rowmajor.data());
    for (std::size_t j = 0; j < n; ++j) {  // SUNDIALS' dense matrices are column-major
        sunrealtype* col = SUNDenseMatrix_Column(J, static_cast<sunindextype>(j));
        for (std::size_t i = 0; i < n; ++i) col[i] = rowmajor[i * n + j];
    }
    return 0;
}

Outcome solve_cvode(const stiff::Problem& p, double rtol, double atol) {
    SUNContext ctx = cvode_context();
    const auto n = static_cast<sunindextype>(p.n);
    N_Vector y = N_VNew_Serial(n, ctx);
    for (std::size_t i = 0; i < p.n; ++i) N_VGetArrayPointer(y)[i] = p.y0[i];
    void* mem = CVodeCreate(CV_BDF, ctx);
    SUNMatrix A = SUNDenseMatrix(n, n, ctx);
    SUNLinearSolver LS = SUNLinSol_Dense(y, A, ctx);
    int flag = CVodeInit(mem, cvode_rhs, p.t0, y);
    if (flag == CV_SUCCESS) flag = CVodeSetUserData(mem, const_cast<stiff::Problem*>(&p));
    if (flag == CV_SUCCESS) flag = CVodeSStolerances(mem, rtol, atol);
    if (flag == CV_SUCCESS) flag = CVodeSetLinearSolver(mem, LS, A);
    if (flag == CV_SUCCESS) flag = CVodeSetJacFn(mem, cvode_jac);
    if (flag == CV_SUCCESS) flag = CVodeSetMaxNumSteps(mem, static_cast<long>(kMaxSteps));
    if (flag == CV_SUCCESS) flag = CVodeSetStopTime(mem, p.t_end);  // land on t_end as odenet does
    sunrealtype t = p.t0;
    if (flag == CV_SUCCESS) flag = CVode(mem, p.t_end, y, &t, CV_NORMAL);
    Outcome out;
    long nfe = 0, nfe_ls = 0, njac = 0, nlu = 0, steps = 0, fails = 0;
    CVodeGetNumRhsEvals(mem, &nfe);
    CVodeGetNumLinRhsEvals(mem, &nfe_ls);  // 0 with an analytic Jacobian
    CVodeGetNumJacEvals(mem, &njac);
    CVodeGetNumLinSolvSetups(mem, &nlu);  // each setup factorises I - gamma J once
    CVodeGetNumSteps(mem, &steps);
    CVodeGetNumErrTestFails(mem, &fails);
    out.y.assign(N_VGetArrayPointer(y), N_VGetArrayPointer(y) + p.n);
    out.nfe = static_cast<double>(nfe + nfe_ls);
    out.njac = static_cast<double>(njac);
    out.nlu = static_cast<double>(nlu);
    out.steps = static_cast<double>(steps);
    out.rejected = static_cast<double>(fails);
    CVodeFree(&mem);
    SUNLinSolFree(LS);
    SUNMatDestroy(A);
    N_VDestroy(y);
    if (flag < 0) throw std::runtime_error("CVODE failed with flag " + std::to_string(flag));
    return out;
}
#endif

Outcome solve_by_name(const stiff::Problem& p, const std::string& solver, double rtol, double atol) {
#ifdef ODENET_BENCH_HAVE_SUNDIALS
    if (solver == "cvode") return solve_cvode(p, rtol, atol);
#endif
#ifndef BENCH_STIFF_NO_ODENET
    for (const auto& s : kOdenetSolvers)
        if (solver == s.name) return solve_odenet(p, s, rtol, atol);
#endif
    throw std::runtime_error("unknown or unavailable solver: " + solver);
}

// ---- the benchmark cases ---------------------------------------------------------------------
void run_case(benchmark::State& state, const stiff::Problem& p, const std::string& solver,
              double rtol) {
    Outcome out;
    try {
        for (auto _ : state) {
            out = solve_by_name(p, solver, rtol, rtol * p.atol_scale);
            benchmark::DoNotOptimize(out.y.data());
        }
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    const auto ref = kReferences.find(p.name);
    state.counters["rtol"] = rtol;
    state.counters["scaled_error"] = ref == kReferences.end()
                                         ? std::nan("")
                                         : stiff::scaled_error(p, out.y.data(), ref->second, rtol);
    state.counters["nfe"] = out.nfe;
    state.counters["njac"] = out.njac;
    state.counters["nlu"] = out.nlu;
    state.counters["steps"] = out.steps;
    state.counters["rejected"] = out.rejected;
    if (solver.rfind("dopri5", 0) == 0) {
        state.counters["switches"] = out.switches;
        state.counters["stiff_steps"] = out.stiff_steps;
    }
}

std::vector<std::string> solver_names() {
    std::vector<std::string> names;
#ifndef BENCH_STIFF_NO_ODENET
    for (const auto& s : kOdenetSolvers) names.emplace_back(s.name);
#endif
#ifdef ODENET_BENCH_HAVE_SUNDIALS
    names.emplace_back("cvode");
#endif
    return names;
}

void register_cases() {
    for (const auto& p : stiff::problems())
        for (const auto& solver : solver_names())
            for (double rtol : kRtols) {
                char name[160];
                std::snprintf(name, sizeof name, "stiff/%s/%s/rtol:%.0e", p.name.c_str(),
                              solver.c_str(), rtol);
                benchmark::RegisterBenchmark(name, [&p, solver, rtol](benchmark::State& st) {
                    run_case(st, p, solver, rtol);
                })->Unit(benchmark::kMillisecond);
            }
}

// ---- --stiff_dump and --stiff_solve ----------------------------------------------------------
void print_array(const double* x, std::size_t n) {
    std::printf("[");
    for (std::size_t i = 0; i < n; ++i) std::printf("%s%.17g", i ? ", " : "", x[i]);
    std::printf("]");
}

// A second point per problem, away from y0 and t0, where f and J are compared as well.
std::vector<double> perturbed_state(const stiff::Problem& p) {
    double ymax = 0.0;
    for (double v : p.y0) ymax = std::max(ymax, std::abs(v));
    std::vector<double> y(p.n);
    for (std::size_t i = 0; i < p.n; ++i) {
        const double k = static_cast<double>(i) + 1.0;
        y[i] = p.y0[i] * (1.0 + 0.1 * std::sin(k)) + 0.01 * ymax * (1.5 + std::sin(3.0 * k));
    }
    return y;
}

int dump() {
    std::printf("[\n");
    const auto& all = stiff::problems();
    for (std::size_t k = 0; k < all.size(); ++k) {
        const auto& p = all[k];
        std::printf("{\"name\": \"%s\", \"n\": %zu, \"t0\": %.17g, \"t_end\": %.17g, "
                    "\"atol_scale\": %.17g, \"autonomous\": %s, \"source\": \"%s\",\n \"points\": [",
                    p.name.c_str(), p.n, p.t0, p.t_end, p.atol_scale,
                    p.autonomous ? "true" : "false", p.source.c_str());
        const std::vector<double> ys[2] = {p.y0, perturbed_state(p)};
        const double ts[2] = {p.t0, p.t0 + 0.37 * (p.t_end - p.t0)};
        for (int q = 0; q < 2; ++q) {
            std::vector<double> f(p.n), J(p.n * p.n);
            p.f(ts[q], ys[q].data(), f.data());
            p.jac(ts[q], ys[q].data(), J.data());
            std::printf("%s\n  {\"t\": %.17g, \"y\": ", q ? "," : "", ts[q]);
            print_array(ys[q].data(), p.n);
            std::printf(", \"f\": ");
            print_array(f.data(), p.n);
            std::printf(", \"J\": ");
            print_array(J.data(), p.n * p.n);
            std::printf("}");
        }
        std::printf("]}%s\n", k + 1 < all.size() ? "," : "");
    }
    std::printf("]\n");
    return 0;
}

int solve_all(const std::string& arg) {
    const auto comma = arg.find(',');
    if (comma == std::string::npos) {
        std::fprintf(stderr, "--stiff_solve=<solver>,<rtol>\n");
        return 2;
    }
    const std::string solver = arg.substr(0, comma);
    const double rtol = std::atof(arg.c_str() + comma + 1);
    std::printf("[\n");
    const auto& all = stiff::problems();
    for (std::size_t k = 0; k < all.size(); ++k) {
        const auto& p = all[k];
        timespec a{}, b{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
        const Outcome out = solve_by_name(p, solver, rtol, rtol * p.atol_scale);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
        const double secs = static_cast<double>(b.tv_sec - a.tv_sec) + 1e-9 * static_cast<double>(b.tv_nsec - a.tv_nsec);
        std::printf("{\"name\": \"%s\", \"solver\": \"%s\", \"rtol\": %.3g, \"atol\": %.3g, "
                    "\"nfe\": %.0f, \"steps\": %.0f, \"cpu_s\": %.4f, \"y_end\": ",
                    p.name.c_str(), solver.c_str(), rtol, rtol * p.atol_scale, out.nfe, out.steps, secs);
        print_array(out.y.data(), p.n);
        std::printf("}%s\n", k + 1 < all.size() ? "," : "");
        std::fflush(stdout);
    }
    std::printf("]\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--stiff_dump") == 0) return dump();
        if (std::strncmp(argv[i], "--stiff_solve=", 14) == 0) return solve_all(argv[i] + 14);
    }
    register_cases();
    benchmark::AddCustomContext("stiff_solvers", [] {
        std::string s;
        for (const auto& n : solver_names()) s += (s.empty() ? "" : ",") + n;
        return s;
    }());
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
