import Pipeline
import Testing

/// An HTTP date's numbers are ASCII digits only: the bytes just above '9' (`:`, `;`, `?`) read as
/// digits would make `199:` a year and `3:` a second, and a date of bytes no server sends.
@Suite struct HTTPDateDigitTests {
    @Test(arguments: ["Sun, 06 Nov 199: 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:3: GMT", "Sun, 0; Nov 1994 08:49:37 GMT",
                      "Sunday, 06-Nov-9? 08:49:37 GMT", "Sun Nov  6 08:49:37 199:"])
    func aByteNextToTheDigitsIsNoDigit(text: String) {
        #expect(HTTPDate.parse(text) == nil, "\(text)")
    }
}
