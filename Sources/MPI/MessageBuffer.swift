/// A typed buffer with a stable address, owned by Swift, for non-blocking
/// calls. A `Request` keeps its buffer alive until the operation completes,
/// so no pointer outlives the memory it points to.
public final class MessageBuffer<Element: MPIScalar> {
    public let count: Int
    @usableFromInline let base: UnsafeMutablePointer<Element>

    /// A buffer of `count` copies of `value`.
    public init(count: Int, repeating value: Element) {
        precondition(count >= 0, "count must be non-negative")
        self.count = count
        base = .allocate(capacity: Swift.max(count, 1))
        base.initialize(repeating: value, count: count)
    }

    /// A buffer holding a copy of `elements`.
    public init(_ elements: [Element]) {
        count = elements.count
        base = .allocate(capacity: Swift.max(count, 1))
        elements.withUnsafeBufferPointer { source in
            if let s = source.baseAddress { base.initialize(from: s, count: count) }
        }
    }

    /// A buffer holding a copy of `elements`.
    init(copying elements: UnsafeBufferPointer<Element>) {
        count = elements.count
        base = .allocate(capacity: Swift.max(count, 1))
        if let s = elements.baseAddress { base.initialize(from: s, count: count) }
    }

    /// `staging` when it holds at least `elements.count`, else a new buffer,
    /// with `elements` copied to its front. `staging` is emptied: the caller
    /// puts the buffer back only once the operation using it has completed,
    /// so a buffer an unfinished request still holds is never reused.
    static func take(_ staging: inout MessageBuffer?, holding elements: UnsafeBufferPointer<Element>) -> MessageBuffer {
        defer { staging = nil }
        guard let buffer = staging, buffer.count >= elements.count else { return MessageBuffer(copying: elements) }
        if let s = elements.baseAddress { buffer.base.update(from: s, count: elements.count) }
        return buffer
    }

    /// `staging` when it holds at least `elements.count`, else a new buffer
    /// of that size (contents unspecified: a receive overwrites them);
    /// `staging` is emptied, as in `take(_:holding:)`.
    static func take(_ staging: inout MessageBuffer?, sizedLike elements: UnsafeBufferPointer<Element>) -> MessageBuffer {
        defer { staging = nil }
        guard let buffer = staging, buffer.count >= elements.count else { return MessageBuffer(copying: elements) }
        return buffer
    }

    /// Copies the contents into `destination`, which has `count` elements.
    func copy(into destination: UnsafeMutableBufferPointer<Element>) {
        precondition(destination.count == count, "copying \(count) elements into \(destination.count)")
        if let d = destination.baseAddress { d.update(from: base, count: count) }
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    @inlinable
    public subscript(index: Int) -> Element {
        get { precondition(index >= 0 && index < count, "index out of range"); return base[index] }
        set { precondition(index >= 0 && index < count, "index out of range"); base[index] = newValue }
    }

    /// The contents as an array (a copy).
    public var elements: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with the storage. The pointer must not escape `body`.
    @inlinable
    public func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws -> R
    ) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }

    func checkedRange(_ range: Range<Int>?) -> Range<Int> {
        let r = range ?? 0..<count
        precondition(r.lowerBound >= 0 && r.upperBound <= count, "range \(r) outside buffer of \(count)")
        return r
    }
}
