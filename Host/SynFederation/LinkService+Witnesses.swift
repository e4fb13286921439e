public import SynBroker
public import NIOCore
import SynLink
import Synchronization

/// Asking peers which of this node's audit heads they hold: `syneroym audit verify` checks the local log against
/// them, so a truncated or rewritten log is caught by someone other than its owner.
extension LinkService {
    /// What one peer said it holds of this node's log.
    public enum HeldHead: Sendable, Equatable {
        case head(AuditHead)
        /// The peer holds none yet.
        case none
        /// It did not answer in time, or its answer was not a head.
        case noAnswer(String)
    }

    /// Asks every peer with a link up which head of this node it holds, and waits at most `timeout` for the answers.
    public func heldHeads(timeout: TimeAmount = .seconds(5)) async -> [String: HeldHead] {
        let nonce = UInt64.random(in: 1...UInt64.max)
        let asked: [String] = linkedPeers()
        guard !asked.isEmpty else { return [:] }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[String: HeldHead], Never>) in
            let query = HeadQuery(peers: Set(asked), continuation: continuation)
            registerQuery(nonce, query)
            for peer in asked { send(.headQuery(nonce), to: peer) }
            anyLoop().scheduleTask(in: timeout) { [self] in
                finishQuery(nonce)
            }
        }
    }

    /// A peer's `heldHead` answer to query `nonce`.
    func answered(_ peer: String, nonce: UInt64, head: AuditHead?, malformed: Bool) {
        let answer: HeldHead = malformed ? .noAnswer("its answer is not an audit head") : head.map { .head($0) } ?? HeldHead.none
        if let done = recordAnswer(nonce, peer: peer, answer) { done() }
    }
}

/// One `heldHeads` call in progress: who was asked, what they said, and who waits.
final class HeadQuery: Sendable {
    struct State {
        var peers: Set<String>
        var answers: [String: LinkService.HeldHead] = [:]
        var continuation: CheckedContinuation<[String: LinkService.HeldHead], Never>?
    }

    let state: Mutex<State>

    init(peers: Set<String>, continuation: CheckedContinuation<[String: LinkService.HeldHead], Never>) {
        state = Mutex(State(peers: peers, continuation: continuation))
    }

    /// Records `peer`'s answer; true when every peer asked has answered.
    func record(_ peer: String, _ answer: LinkService.HeldHead) -> Bool {
        state.withLock { s in
            guard s.peers.contains(peer), s.answers[peer] == nil else { return false }
            s.answers[peer] = answer
            return s.answers.count == s.peers.count
        }
    }

    /// Resumes the waiter once, with the answers so far and `noAnswer` for the rest.
    func finish() {
        let (continuation, answers) = state.withLock { s -> (CheckedContinuation<[String: LinkService.HeldHead], Never>?, [String: LinkService.HeldHead]) in
            defer { s.continuation = nil }
            var all = s.answers
            for peer in s.peers where all[peer] == nil { all[peer] = .noAnswer("no answer within the time allowed") }
            return (s.continuation, all)
        }
        continuation?.resume(returning: answers)
    }
}
