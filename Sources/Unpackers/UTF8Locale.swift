#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libarchive converts entry names between the archive's charset (UTF-8 for flagged zip entries and
/// pax headers) and the current locale's; in the "C" locale a swift process starts in, a UTF-8 name
/// cannot be converted and comes back as NULL. A UTF-8 locale for this thread only, for the time of
/// one extraction, fixes that without touching the process-wide locale.
enum UTF8Locale {
    static func whileActive<Result>(_ body: () throws -> Result) rethrows -> Result {
        guard let utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) else { return try body() }
        let previous = uselocale(utf8)
        defer {
            uselocale(previous)
            freelocale(utf8)
        }
        return try body()
    }
}
