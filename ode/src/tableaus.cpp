// The coefficients of every method, as data, and the registry that names them (Note [Method
// registry]). Each block cites where its numbers are published; validate() checks the
// consistency identities in tests/ode/test_tableaus.cpp.
#include <iterator>
#include <map>
#include <mutex>
#include <string>

#include "odenet/core/error.hpp"

#include "odenet/ode/tableau.hpp"
#include "tableau_build.hpp"

namespace odenet::ode {

namespace {

using detail::Poly;

ButcherTableau fixed(int order, std::vector<double> c, std::vector<std::vector<double>> a, std::vector<double> b) {
    ButcherTableau t{.order = order, .error_order = 0, .c = std::move(c),
                     .a = std::move(a), .b = std::move(b)};
    t.dense = hermite_dense(t.b);
    return t;
}

// Forward Euler; Euler (1768).
ButcherTableau make_euler() { return fixed(1, {0.0}, {{}}, {1.0}); }

// Explicit midpoint rule (Runge 1895); Hairer, Norsett & Wanner I, Sec. II.1, Table 1.1.
ButcherTableau make_midpoint() { return fixed(2, {0.0, 0.5}, {{}, {0.5}}, {0.0, 1.0}); }

// Heun's method (explicit trapezoidal rule), HNW I, Sec. II.1, Table 1.1.
ButcherTableau make_heun() { return fixed(2, {0.0, 1.0}, {{}, {1.0}}, {0.5, 0.5}); }

// The classic fourth-order method, Kutta (1901); HNW I, Sec. II.1, Table 1.2 (left).
ButcherTableau make_rk4() {
    return fixed(4, {0.0, 0.5, 0.5, 1.0}, {{}, {0.5}, {0.0, 0.5}, {0.0, 0.0, 1.0}},
                 {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6});
}

// Kutta's 3/8 rule (1901); HNW I, Sec. II.1, Table 1.2 (right).
ButcherTableau make_rk4_38() {
    return fixed(4, {0.0, 1.0 / 3, 2.0 / 3, 1.0}, {{}, {1.0 / 3}, {-1.0 / 3, 1.0}, {1.0, -1.0, 1.0}},
                 {1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8});
}

// Bogacki & Shampine (1989), "A 3(2) pair of Runge-Kutta formulas", Appl. Math. Lett. 2(4):321-325.
// b_hat = (7/24, 1/4, 1/3, 1/8). FSAL; cubic Hermite dense output (the pair's natural one).
ButcherTableau make_bosh3() {
    ButcherTableau t{.order = 3, .error_order = 2, .c = {0.0, 0.5, 0.75, 1.0},
                     .a = {{}, {0.5}, {0.0, 0.75}, {2.0 / 9, 1.0 / 3, 4.0 / 9}},
                     .b = {2.0 / 9, 1.0 / 3, 4.0 / 9, 0.0},
                     .b_err = {2.0 / 9 - 7.0 / 24, 1.0 / 3 - 1.0 / 4, 4.0 / 9 - 1.0 / 3, -1.0 / 8}};
    t.dense = hermite_dense(t.b);
    return t;
}

// Fehlberg (1969), NASA TR R-315, the RKF 1(2) pair, propagating the second-order solution
// (local extrapolation) as torchdiffeq's "fehlberg2": b = (1/512, 255/256, 1/512),
// b_hat = (1/256, 255/256, 0).
ButcherTableau make_fehlberg2() {
    ButcherTableau t{.order = 2, .error_order = 1, .c = {0.0, 0.5, 1.0},
                     .a = {{}, {0.5}, {1.0 / 256, 255.0 / 256}},
                     .b = {1.0 / 512, 255.0 / 256, 1.0 / 512},
                     .b_err = {1.0 / 512 - 1.0 / 256, 0.0, 1.0 / 512}};
    t.dense = hermite_dense(t.b);
    return t;
}

// Dormand & Prince (1980), "A family of embedded Runge-Kutta formulae", J. Comp. Appl. Math.
// 6:19-26, Table 2 (RK5(4)7M). Continuous extension of order 4: Shampine (1986), "Some practical
// Runge-Kutta formulas", Math. Comp. 46:135-150, in the nested form of Hairer's DOPRI5 (CONTD5),
// HNW I, Sec. II.6.
ButcherTableau make_dopri5() {
    ButcherTableau t{
        .order = 5, .error_order = 4,
        .c = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0},
        .a = {{},
              {1.0 / 5},
              {3.0 / 40, 9.0 / 40},
              {44.0 / 45, -56.0 / 15, 32.0 / 9},
              {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
              {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
              {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}},
        .b = {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0.0},
        .b_err = {71.0 / 57600, 0.0, -71.0 / 16695, 71.0 / 1920, -17253.0 / 339200, 22.0 / 525, -1.0 / 40}};
    auto r = detail::hairer_leading_vectors(t.b, 8);
    r.push_back({-12715105075.0 / 11282082432, 0.0, 87487479700.0 / 32700410799, -10690763975.0 / 1880347072,
                 701980252875.0 / 199316789632, -1453857185.0 / 822651844, 69997945.0 / 29380423, 0.0});
    t.dense = {.order = 4, .poly = detail::nested_to_poly(r, 8)};
    return t;
}

// Tsitouras (2011), "Runge-Kutta pairs of order 5(4) satisfying only the first column
// simplifying assumption", Comput. Math. Appl. 62:770-775, Table 1 (coefficients to 40 digits
// in the paper; here rounded to double). Its dense output of order 4 is the paper's
// b_i(theta), Sec. 4, written in the factored form with the paper's roots.
ButcherTableau make_tsit5() {
    const std::vector<double> b = {0.09646076681806522951816731316512876333711995238157997181903319145764851595234062815396,
                                   0.01,
                                   0.4798896504144995747752495322905965199130404621990332488332634944254542060153074523509,
                                   1.379008574103741893192274821856872770756462643091360525934940067397245698027561293331,
                                   -3.290069515436080679901047585711363850115683290894936158531296799594813811049925401677,
                                   2.324710524099773982415355918398765796109060233222962411944060046314465391054716027841,
                                   0.0};
    const std::vector<double> b_hat = {0.09468075576583945807478876255758922856117527357724631226139574065785592789071067303271,
                                       0.009183565540343253096776363936645313759813746240984095238905939532922955247253608687270,
                                       0.4877705284247615707855642599631228241516691959761363774365216240304071651579571959813,
                                       1.234297566930478985655109673884237654035539930748192848315425833500484878378061439761,
                                       -2.707712349983525454881109975059321670689605166938197378763992255714444407154902012702,
                                       1.866628418170587035753719399566211498666255505244122593996591602841258328965767580089,
                                       1.0 / 66};
    ButcherTableau t{
        .order = 5, .error_order = 4,
        .c = {0.0, 0.161, 0.327, 0.9, 0.9800255409045096857298102862870245954942137979563024768854764293221195950761080302604, 1.0, 1.0},
        .a = {{},
              {0.161},
              {-0.008480655492356988544426874250230774675121177393430391537369234245294192976164141156943,
               0.3354806554923569885444268742502307746751211773934303915373692342452941929761641411569},
              {2.897153057105493432130432594192938764924887287701866490314866693455023795137503079289,
               -6.359448489975074843148159912383825625952700647415626703305928850207288721235210244366,
               4.362295432869581411017727318190886861027813359713760212991062156752264926097707165077},
              {5.325864828439256604428877920840511317836476253097040101202360397727981648835607691791,
               -11.74888356406282787774717033978577296188744178259862899288666928009020615663593781589,
               7.495539342889836208304604784564358155658679161518186721010132816213648793440552049753,
               -0.09249506636175524925650207933207191611349983406029535244034750452930469056411389539635},
              {5.861455442946420028659251486982647890394337666164814434818157239052507339770711679748,
               -12.92096931784710929170611868178335939541780751955743459166312250439928519268343184452,
               8.159367898576158643180400794539253485181918321135053305748355423955009222648673734986,
               -0.07158497328140099722453054252582973869127213147363544882721139659546372402303777878835,
               -0.02826905039406838290900305721271224146717633626879770007617876201276764571291579142206},
              {b[0], b[1], b[2], b[3], b[4], b[5]}},
        .b = b};
    for (std::size_t j = 0; j < b.size(); ++j) t.b_err.push_back(b[j] - b_hat[j]);
    auto th = [](double root) { return Poly{-root, 1.0}; };
    std::vector<Poly> w(8);
    w[0] = detail::poly_mul(detail::poly_mul(Poly{0.0, -1.0530884977290216}, th(1.3299890189751412)),
                            Poly{0.7139816917074209, -1.4364028541716351, 1.0});
    w[1] = detail::poly_mul(Poly{0.0, 0.0, 0.1017}, Poly{1.2949852507374631, -2.1966568338249754, 1.0});
    w[2] = detail::poly_mul(Poly{0.0, 0.0, 2.490627285651252793}, Poly{1.57803468208092486, -2.38535645472061657, 1.0});
    w[3] = detail::poly_mul(detail::poly_mul(Poly{0.0, 0.0, -16.54810288924490272}, th(1.21712927295533244)),
                            th(0.61620406037800089));
    w[4] = detail::poly_mul(detail::poly_mul(Poly{0.0, 0.0, 47.37952196281928122}, th(1.203071208372362603)),
                            th(0.658047292653547382));
    w[5] = detail::poly_mul(detail::poly_mul(Poly{0.0, 0.0, -34.87065786149660974}, th(1.2)), th(2.0 / 3));
    w[6] = detail::poly_mul(detail::poly_mul(Poly{0.0, 0.0, 2.5}, th(1.0)), th(0.6));
    w[7] = Poly{0.0};  // f1 is stage 6 (FSAL)
    t.dense.order = 4;
    for (auto& p : w) {
        p.erase(p.begin());  // the constant term is zero: w_j(0) = 0
        t.dense.poly.push_back(p);
    }
    return t;
}

// Dormand & Prince 8(5,3): Hairer, Norsett & Wanner I, Sec. II.10, and Hairer's DOP853 code
// (coefficients of Prince & Dormand (1981), "High order embedded Runge-Kutta formulae",
// J. Comp. Appl. Math. 7:67-75, with the 5th and 3rd order error estimators and the dense
// output of order 7 using three extra stages, as published with DOP853). Values are the
// decimal expansions also tabulated in SciPy's dop853_coefficients.py.
ButcherTableau make_dop853() {
    ButcherTableau t;
    t.order = 8;
    t.error_order = 5;
    t.c = {0.0, 0.05260015195876773, 0.0789002279381516, 0.1183503419072274, 0.2816496580927726,
           0.3333333333333333, 0.25, 0.3076923076923077, 0.6512820512820513, 0.6, 0.8571428571428571, 1.0};
    t.a = {
        {},
        {0.05260015195876773},
        {0.0197250569845379, 0.0591751709536137},
        {0.02958758547680685, 0.0, 0.08876275643042054},
        {0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792},
        {0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242},
        {0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125},
        {0.03709200011850479, 0.0, 0.0, 0.17038392571223998, 0.10726203044637328, -0.015319437748624402,
         0.008273789163814023},
        {0.6241109587160757, 0.0, 0.0, -3.3608926294469414, -0.868219346841726, 27.59209969944671, 20.154067550477894,
         -43.48988418106996},
        {0.47766253643826434, 0.0, 0.0, -2.4881146199716677, -0.590290826836843, 21.230051448181193,
         15.279233632882423, -33.28821096898486, -0.020331201708508627},
        {-0.9371424300859873, 0.0, 0.0, 5.186372428844064, 1.0914373489967295, -8.149787010746927,
         -18.52006565999696, 22.739487099350505, 2.4936055526796523, -3.0467644718982196},
        {2.273310147516538, 0.0, 0.0, -10.53449546673725, -2.0008720582248625, -17.9589318631188, 27.94888452941996,
         -2.8589982771350235, -8.87285693353063, 12.360567175794303, 0.6433927460157636},
    };
    t.b = {0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003, -5.801203960010585,
           0.3111643669578199, -0.1521609496625161, 0.20136540080403034, 0.04471061572777259};
    t.b_err = {0.01312004499419488, 0.0, 0.0, 0.0, 0.0, -1.2251564463762044, -0.4957589496572502,
               1.6643771824549864, -0.35032884874997366, 0.3341791187130175, 0.08192320648511571,
               -0.022355307863886294};
    t.b_err_low = {-0.18980075407240762, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003,
                   -5.801203960010585, -0.4226823213237919, -0.1521609496625161, 0.20136540080403034,
                   0.02265179219836082};
    t.dense.order = 7;
    t.dense.c_extra = {0.1, 0.2, 0.7777777777777778};
    t.dense.a_extra = {
        {0.056167502283047954, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25350021021662483, -0.2462390374708025,
         -0.12419142326381637, 0.15329179827876568, 0.00820105229563469, 0.007567897660545699, -0.008298},
        {0.03183464816350214, 0.0, 0.0, 0.0, 0.0, 0.028300909672366776, 0.053541988307438566, -0.05492374857139099,
         0.0, 0.0, -0.00010834732869724932, 0.0003825710908356584, -0.00034046500868740456, 0.1413124436746325},
        {-0.42889630158379194, 0.0, 0.0, 0.0, 0.0, -4.697621415361164, 7.683421196062599, 4.06898981839711,
         0.3567271874552811, 0.0, 0.0, 0.0, -0.0013990241651590145, 2.9475147891527724, -9.15095847217987},
    };
    auto r = detail::hairer_leading_vectors(t.b, 16);
    r.push_back({-8.428938276109013, 0.0, 0.0, 0.0, 0.0, 0.5667149535193777, -3.0689499459498917, 2.38466765651207,
                 2.117034582445028, -0.871391583777973, 2.2404374302607883, 0.6315787787694688, -0.08899033645133331,
                 18.148505520854727, -9.194632392478356, -4.436036387594894});
    r.push_back({10.427508642579134, 0.0, 0.0, 0.0, 0.0, 242.28349177525817, 165.20045171727028, -374.5467547226902,
                 -22.113666853125306, 7.733432668472264, -30.674084731089398, -9.332130526430229, 15.697238121770845,
                 -31.139403219565178, -9.35292435884448, 35.81684148639408});
    r.push_back({19.985053242002433, 0.0, 0.0, 0.0, 0.0, -387.0373087493518, -189.17813819516758, 527.8081592054236,
                 -11.57390253995963, 6.8812326946963, -1.0006050966910838, 0.7777137798053443, -2.778205752353508,
                 -60.19669523126412, 84.32040550667716, 11.99229113618279});
    r.push_back({-25.69393346270375, 0.0, 0.0, 0.0, 0.0, -154.18974869023643, -231.5293791760455, 357.6391179106141,
                 93.40532418362432, -37.45832313645163, 104.0996495089623, 29.8402934266605, -43.53345659001114,
                 96.32455395918828, -39.17726167561544, -149.72683625798564});
    t.dense.poly = detail::nested_to_poly(r, 16);
    return t;
}

// Note [Method registry]
// Every method is one row: its enumerator, the name users type (--solver dopri5), and the
// function that builds its coefficients above (null for the symplectic splitting methods,
// whose coefficients live in splittings.cpp). Names, lookups and the list of all methods are
// read from here; the enumerators must appear in the order of the enum, which the static_assert
// below checks, so that a method added to the enum but not here fails to compile (or, at the
// end of the enum, throws from tableau() naming it).
enum class Kind { runge_kutta, symplectic, implicit };
struct Registered {
    Method method;
    std::string_view name;
    ButcherTableau (*make)();
    Kind kind = Kind::runge_kutta;
};
constexpr Registered kRegistry[] = {
    {Method::euler, "euler", make_euler},
    {Method::midpoint, "midpoint", make_midpoint},
    {Method::heun, "heun", make_heun},
    {Method::rk4, "rk4", make_rk4},
    {Method::rk4_38, "rk4_38", make_rk4_38},
    {Method::bosh3, "bosh3", make_bosh3},
    {Method::fehlberg2, "fehlberg2", make_fehlberg2},
    {Method::dopri5, "dopri5", make_dopri5},
    {Method::tsit5, "tsit5", make_tsit5},
    {Method::dop853, "dop853", make_dop853},
    // Symplectic splitting methods: no tableau; their coefficients are in splittings.cpp.
    {Method::leapfrog, "leapfrog", nullptr, Kind::symplectic},
    {Method::yoshida4, "yoshida4", nullptr, Kind::symplectic},
    // Implicit methods for stiff problems: their coefficients are in implicit_tableaus.cpp.
    {Method::rosenbrock23, "rosenbrock23", nullptr, Kind::implicit},
    {Method::rodas4, "rodas4", nullptr, Kind::implicit},
    {Method::trbdf2, "trbdf2", nullptr, Kind::implicit},
};

constexpr bool in_enum_order() {
    for (std::size_t i = 0; i < std::size(kRegistry); ++i)
        if (static_cast<std::size_t>(kRegistry[i].method) != i) return false;
    return true;
}
static_assert(in_enum_order(), "kRegistry must list every Method once, in the order of the enum");

const Registered& registered(Method method) {
    const auto i = static_cast<std::size_t>(method);
    if (i >= std::size(kRegistry))
        throw ValueError("tableau", "method " + std::to_string(i) + " is not in the registry (ode/src/tableaus.cpp)");
    return kRegistry[i];
}

}  // namespace

const ButcherTableau& tableau(Method method) {
    // Built on first use and kept: solves look tableaus up once each.
    static std::mutex mutex;
    static std::map<Method, ButcherTableau> cache;
    const Registered& entry = registered(method);
    if (entry.kind == Kind::implicit)
        throw ValueError("tableau", std::string(entry.name) +
                                        " is an implicit method with no explicit Butcher tableau (ode/implicit.hpp)");
    if (!entry.make)
        throw ValueError("tableau", std::string(entry.name) +
                                        " is a symplectic splitting method with no Butcher tableau: use it with "
                                        "ode::solve and Options::step_size over a (q, p) state (ode/symplectic.hpp)");
    std::lock_guard lock(mutex);
    auto it = cache.find(method);
    if (it == cache.end()) {
        ButcherTableau t = entry.make();
        t.name = std::string(entry.name);
        it = cache.emplace(method, std::move(t)).first;
    }
    return it->second;
}

std::string_view method_name(Method method) { return registered(method).name; }

Method method_from_name(std::string_view name) {
    std::string valid;
    for (const Registered& entry : kRegistry) {
        if (entry.name == name) return entry.method;
        valid += (valid.empty() ? "" : ", ") + std::string(entry.name);
    }
    throw ValueError("method_from_name", "unknown method '" + std::string(name) + "'; valid names: " + valid);
}

bool is_symplectic(Method method) { return registered(method).kind == Kind::symplectic; }

bool is_implicit(Method method) { return registered(method).kind == Kind::implicit; }

const std::vector<Method>& all_methods() {
    static const std::vector<Method> methods = [] {
        std::vector<Method> m;
        for (const Registered& entry : kRegistry)
            if (entry.make) m.push_back(entry.method);
        return m;
    }();
    return methods;
}

const std::vector<Method>& symplectic_methods() {
    static const std::vector<Method> methods = [] {
        std::vector<Method> m;
        for (const Registered& entry : kRegistry)
            if (entry.kind == Kind::symplectic) m.push_back(entry.method);
        return m;
    }();
    return methods;
}

const std::vector<Method>& implicit_methods() {
    static const std::vector<Method> methods = [] {
        std::vector<Method> m;
        for (const Registered& entry : kRegistry)
            if (entry.kind == Kind::implicit) m.push_back(entry.method);
        return m;
    }();
    return methods;
}

}  // namespace odenet::ode
