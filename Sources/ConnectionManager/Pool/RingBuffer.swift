/// A growable FIFO ring buffer (a tiny deque): amortised O(1) at both ends, O(n) removal in the middle.
///
/// Used for the waiter queue so that serving the oldest waiter neither shifts an array nor allocates once the
/// buffer has grown to the pool's peak number of waiters.
struct RingBuffer<Element> {
    private var storage: [Element?]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 1
        while size < max(capacity, 1) { size <<= 1 }
        storage = Array(repeating: nil, count: size)
    }

    var isEmpty: Bool { count == 0 }

    private var mask: Int { storage.count - 1 }

    subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "RingBuffer index out of range")
            return storage[(head + position) & mask]!
        }
        set {
            precondition(position >= 0 && position < count, "RingBuffer index out of range")
            storage[(head + position) & mask] = newValue
        }
    }

    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & mask] = element
        count += 1
    }

    mutating func prepend(_ element: Element) {
        if count == storage.count { grow() }
        head = (head - 1) & mask
        storage[head] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()
        head = (head + 1) & mask
        count -= 1
        return element
    }

    /// Removes the element at `position` (0 = oldest), keeping the order of the others.
    @discardableResult
    mutating func remove(at position: Int) -> Element {
        precondition(position >= 0 && position < count, "RingBuffer index out of range")
        let element = storage[(head + position) & mask].take()!
        var index = position
        while index + 1 < count {
            storage[(head + index) & mask] = storage[(head + index + 1) & mask].take()
            index += 1
        }
        count -= 1
        return element
    }

    func firstIndex(where predicate: (Element) throws -> Bool) rethrows -> Int? {
        var index = 0
        while index < count {
            if try predicate(storage[(head + index) & mask]!) { return index }
            index += 1
        }
        return nil
    }

    mutating func removeAll() {
        while popFirst() != nil {}
        head = 0
    }

    private mutating func grow() {
        var bigger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        for index in 0..<count { bigger[index] = storage[(head + index) & mask].take() }
        storage = bigger
        head = 0
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
