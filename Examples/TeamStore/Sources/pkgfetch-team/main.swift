// A team's own `pkgfetch`: the whole command, plus one backend compiled in. This file and the
// backend (Sources/TeamStore) are all the team writes; everything else (flags, rules, retries,
// verification, unpacking, installs, exit codes) is pkgfetch's.
import PkgfetchCommand
import TeamStore

await PkgfetchMain.main(extraBackends: [TeamStoreBackend()])
