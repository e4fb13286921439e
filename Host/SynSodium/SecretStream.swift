import CSynSodium

/// libsodium's secretstream (XChaCha20-Poly1305): a sequence of messages encrypted under one key, each
/// authenticated, in order, with the last one tagged final, so reordering, dropping, truncating or altering any
/// message is detected. The corresponding C functions are `crypto_secretstream_xchacha20poly1305_*`.
public enum SecretStream {
    /// The stream header's size (sent before the first message).
    public static let headerLength = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    /// What encryption adds to each message.
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)

    /// Encrypts messages in order. Not `Sendable`: one owner pushes, then finishes.
    public struct Writer {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        /// The header to write before the first message.
        public let header: [UInt8]

        public init(key: SecretKey) throws(SodiumError) {
            try Sodium.initialize()
            var header = [UInt8](repeating: 0, count: SecretStream.headerLength)
            var state = crypto_secretstream_xchacha20poly1305_state()
            let rc = key.buffer.withPointer { crypto_secretstream_xchacha20poly1305_init_push(&state, &header, $0) }
            guard rc == 0 else { throw SodiumError(.initFailed, "cannot start an encrypted stream") }
            self.state = state
            self.header = header
        }

        /// Encrypts `message` into `output` (which must hold `message.count + overhead` bytes), without copies.
        public mutating func push(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, final: Bool = false) {
            precondition(output.count >= message.count + SecretStream.overhead)
            let tag = UInt8(final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
            _ = crypto_secretstream_xchacha20poly1305_push(&state, output.baseAddress!.assumingMemoryBound(to: UInt8.self), nil,
                                                          message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                                                          nil, 0, tag)
        }

        /// The ciphertext of `message` (its length plus `overhead`), bound to `additional` data; `final` ends the stream.
        public mutating func push(_ message: [UInt8], additional: [UInt8] = [], final: Bool = false) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: message.count + SecretStream.overhead)
            let tag = UInt8(final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
            _ = crypto_secretstream_xchacha20poly1305_push(&state, &out, nil, message, UInt64(message.count),
                                                          additional.isEmpty ? nil : additional, UInt64(additional.count), tag)
            return out
        }
    }

    /// Decrypts messages in order.
    public struct Reader {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        /// Whether the final message has been read.
        public private(set) var finished = false

        /// `.badKey` when the header does not fit the key's stream (it is the wrong length).
        public init(key: SecretKey, header: [UInt8]) throws(SodiumError) {
            try Sodium.initialize()
            guard header.count == SecretStream.headerLength else {
                throw SodiumError(.badLength, "an encrypted stream's header is \(SecretStream.headerLength) bytes; got \(header.count)")
            }
            var state = crypto_secretstream_xchacha20poly1305_state()
            let rc = key.buffer.withPointer { crypto_secretstream_xchacha20poly1305_init_pull(&state, header, $0) }
            guard rc == 0 else { throw SodiumError(.badKey, "the encrypted stream's header is invalid") }
            self.state = state
        }

        /// The plaintext of the next message; `.badSignature` when it does not authenticate (wrong key, altered or
        /// out of order), and after the final message.
        public mutating func pull(_ ciphertext: [UInt8], additional: [UInt8] = []) throws(SodiumError) -> [UInt8] {
            guard !finished else { throw SodiumError(.badSignature, "data follows the encrypted stream's final message") }
            guard ciphertext.count >= SecretStream.overhead else {
                throw SodiumError(.badLength, "an encrypted message is at least \(SecretStream.overhead) bytes")
            }
            var out = [UInt8](repeating: 0, count: ciphertext.count - SecretStream.overhead)
            var tag: UInt8 = 0
            let rc = crypto_secretstream_xchacha20poly1305_pull(&state, &out, nil, &tag, ciphertext, UInt64(ciphertext.count),
                                                               additional.isEmpty ? nil : additional, UInt64(additional.count))
            guard rc == 0 else { throw SodiumError(.badSignature, "a message does not authenticate") }
            if tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) { finished = true }
            return out
        }
    }
}
