//! Layer 3b of the Clean Rooms service: procedures that commit. Each file is one procedure,
//! readable top-down: admission of an analysis ([`admit`]), PopulateIntermediateTable
//! ([`populate`]) and StartProtectedQuery ([`query`]), the creation and update of a
//! membership's resources ([`children`]), the background runs ([`runs`], counted per membership by [`background`]) and the one settle of a
//! finished or abandoned run ([`settle`]), the cancellation of a run ([`cancel`]), result files
//! and their delivery ([`results`], [`delivery`]), deletion cascades ([`cascade`]) and what
//! happens to intermediate tables when something else happens ([`lifecycle`]).

pub mod admit;
pub mod analysis_logs;
pub mod background;
pub mod cancel;
pub mod cascade;
pub mod change_requests;
pub mod children;
pub mod delivery;
pub mod id_mapping;
pub mod job;
pub mod lifecycle;
pub mod populate;
pub mod query;
pub mod results;
pub mod runs;
pub mod settle;
