#pragma once
// Step-size control: from the error ratio of the step just tried, accept or reject it and
// propose the next step size.
namespace odenet::ode {

/// The controller's verdict on one attempted step.
struct StepDecision {
    bool accept = false;
    double h_next = 0.0;  ///< signed like h
};

/// Proportional-integral step-size controller (Gustafsson 1991, ACM TOMS 17:533-554; Hairer &
/// Wanner, Solving ODEs II, Sec. IV.2, "PI step size control"; Soderlind 2002, Numer.
/// Algorithms 31:281-310):
///   h_next = h * clamp(safety * err_n^(-beta1/k) * err_{n-1}^(beta2/k), min_factor, max_factor)
/// with k = error_order + 1 and err the error ratio (<= 1 accepts). After a rejection the
/// integral term is dropped and the step may not grow (Hairer's DOPRI5), so a rejected step is
/// followed by a smaller one.
struct PIController {
    double safety = 0.9;      ///< keeps the next error ratio below 1 (HNW I, eq. II.4.13)
    double min_factor = 0.2;  ///< largest shrink per step (HNW I, Sec. II.4: facmin 0.2 in DOPRI5)
    double max_factor = 10.0; ///< largest growth per step (DOPRI5's facmax)
    /// Proportional coefficient, times 1/k: 0.85 / 5 = 0.17 for dopri5, the exponent of Hairer's
    /// DOPRI5 (0.2 - 0.75 beta with beta = 0.04; HNW I, Sec. II.4, "stabilized step size control").
    double beta1 = 0.85;
    /// Integral coefficient, times 1/k: 0.2 / 5 = 0.04 for dopri5, DOPRI5's beta. beta1 = 1,
    /// beta2 = 0 give the classic I-controller (SciPy's RK45 with these settings, NFE for NFE).
    /// Gustafsson's (0.7, 0.4) damps harder: 20% more steps on Lorenz at 1e-8.
    double beta2 = 0.2;

    /// Decides on a step of size h with error ratio err (NaN or Inf rejects with min_factor).
    StepDecision propose(double h, double err, int error_order);
    /// Forgets the error history (call at the start of a solve and after a discontinuity).
    void reset();

    // The history propose() keeps (public so that the controller stays an aggregate and can be
    // written with designated initialisers; reset() clears it).
    double log_prev_err = 0.0;   ///< log of the error ratio of the last accepted step
    bool last_rejected = false;  ///< whether the last step was rejected
};

}  // namespace odenet::ode
