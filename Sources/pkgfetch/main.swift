import PkgfetchCommand

// The whole command lives in the PkgfetchCommand library, so that a package of one's own can run it
// with an extra backend compiled in.
await PkgfetchMain.main()
