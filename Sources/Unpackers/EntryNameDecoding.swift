/// Turns the bytes of an entry name into the UTF-8 bytes it gets on disk. Valid UTF-8 is taken as is,
/// byte for byte (never normalised: NFC and NFD spellings stay two names): flagged zip names, pax names,
/// and the unflagged UTF-8 names macOS and Linux zip tools write. Anything else is a legacy name: zip's
/// legacy code page is IBM 437 (APPNOTE 4.4.4), and tar has none, so Latin-1 maps each byte to one
/// character. Either way the name comes out readable and reversible to the archive's bytes.
enum EntryNameDecoding {
    enum Legacy { case cp437, latin1 }

    static func decode(_ bytes: [UInt8], legacy: Legacy) -> [UInt8] {
        if bytes.allSatisfy({ $0 < 0x80 }) || String(validating: bytes, as: UTF8.self) != nil { return bytes }
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            if byte < 0x80 {
                scalars.append(Unicode.Scalar(byte))
            } else {
                switch legacy {
                case .cp437: scalars.append(cp437High[Int(byte) - 0x80])
                case .latin1: scalars.append(Unicode.Scalar(byte))
                }
            }
        }
        return Array(String(scalars).utf8)
    }

    /// Bytes 0x80…0xFF of code page 437, as Python's `cp437` codec maps them.
    private static let cp437High: [Unicode.Scalar] = Array(
        "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}"
            .unicodeScalars)
}
