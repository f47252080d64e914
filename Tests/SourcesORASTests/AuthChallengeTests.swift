import Testing
@testable import SourcesORAS

@Suite struct AuthChallengeTests {
    @Test func bearerWithQuotedCommasAndEscapes() {
        let header = #"Bearer realm="https://auth.example/token?a=1,b=2",service="registry.example",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope""#
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.count == 1)
        let bearer = challenges[0]
        #expect(bearer.scheme == .bearer)
        #expect(bearer.realm == "https://auth.example/token?a=1,b=2")
        #expect(bearer.service == "registry.example")
        #expect(bearer.scopes == ["repository:a/b:pull,push", "repository:c:pull"])
        #expect(bearer.parameters["error"] == "insufficient_scope")

        let escaped = AuthChallenge.parse(#"Basic realm="say \"hi\", friend""#)
        #expect(escaped == [AuthChallenge(scheme: .basic, parameters: ["realm": #"say "hi", friend"#])])
    }

    @Test func severalChallengesInOneHeaderAndAcrossHeaders() {
        let parsed = AuthChallenge.parse(#"Basic realm="a, b", Bearer realm="https://t/x", service=svc , Negotiate"#)
        #expect(parsed.map(\.scheme) == [.basic, .bearer, .other("Negotiate")])
        #expect(parsed[0].realm == "a, b")
        #expect(parsed[1].service == "svc")
        #expect(AuthChallenge.preferred(parsed)?.scheme == .bearer)

        let two = AuthChallenge.parse(["BASIC REALM=x", "bearer realm=\"y\""])
        #expect(two.map(\.scheme) == [.basic, .bearer])
        #expect(two[0].realm == "x")
        #expect(AuthChallenge.preferred([AuthChallenge(scheme: .other("Digest"))]) == nil)
    }

    @Test func junkDoesNotHideAGoodChallenge() {
        let parsed = AuthChallenge.parse(#"=,, "stray" Bearer realm="https://t/x""#)
        #expect(AuthChallenge.preferred(parsed)?.realm == "https://t/x")
        #expect(AuthChallenge.parse("").isEmpty)
        #expect(AuthChallenge.parse(#"Bearer realm="unterminated"#).first?.realm == "unterminated")
    }
}
