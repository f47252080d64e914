import Testing
@testable import SourcesORAS

/// The per-registry verdict on anonymous access: one pull finds out, pulls that ask meanwhile wait
/// for its answer, and a probe that ends without one hands the question to exactly one of them.
@Suite struct AnonymousAccessLedgerTests {
    /// Polls until `condition` holds (the waiters below must be parked before the test goes on), for
    /// up to 60 s: long only on a loaded machine.
    func eventually(_ condition: () async -> Bool) async throws {
        let giveUp = ContinuousClock.now + .seconds(60)
        while !(await condition()), ContinuousClock.now < giveUp { try await Task.sleep(for: .milliseconds(2)) }
        #expect(await condition())
    }

    @Test func oneFindsOutTheOthersWaitAndAnAbandonedProbeIsHandedOn() async throws {
        let ledger = AnonymousAccessLedger()
        #expect(await ledger.verdict(for: "ACR.example") == nil, "the first asker probes")
        let answers = Answers()
        let first = Task { await answers.add(await ledger.verdict(for: "acr.example")) }
        let second = Task { await answers.add(await ledger.verdict(for: "acr.example")) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(await answers.all.isEmpty, "waiting while the probe runs")

        // The probe ended without an answer (say, a network failure): one waiter becomes the prober.
        await ledger.settle("acr.example", nil)
        try await eventually { await answers.all.count == 1 }
        #expect(await answers.all == [nil])

        // Its answer reaches the one still waiting, and everyone after.
        await ledger.settle("acr.example", .refused)
        _ = await (first.value, second.value)
        #expect(await answers.all == [nil, .refused])
        #expect(await ledger.verdict(for: "acr.example") == .refused)
        // Another registry is a question of its own.
        #expect(await ledger.verdict(for: "other.example") == nil)
    }

    actor Answers {
        private(set) var all: [AnonymousAccessLedger.Verdict?] = []
        func add(_ answer: AnonymousAccessLedger.Verdict?) { all.append(answer) }
    }
}
