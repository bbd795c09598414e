import Testing

@testable import Dashboard

@Suite("Widgets")
struct WidgetTests {
    func render(_ draw: (inout Buffer) -> Void, width: Int, height: Int = 1, glyphs: Glyphs = .unicode) -> Buffer {
        var b = Buffer(width: width, height: height, glyphs: glyphs)
        draw(&b)
        return b
    }

    @Test func sparkline() {
        let b = render({ Sparkline([0, 4, 8]).render(in: $0.area, into: &$0) }, width: 3)
        #expect(b.lines == [" ▄█"])
        #expect(b.lines == Buffer(lines: [" ▄█"]).lines)
    }

    @Test func sparklineShowsNewestRightAligned() {
        let b = render({ Sparkline([8, 8, 8, 1, 8]).render(in: $0.area, into: &$0) }, width: 2)
        #expect(b.lines == ["▁█"])
        let short = render({ Sparkline([8]).render(in: $0.area, into: &$0) }, width: 3)
        #expect(short.lines == ["  █"])
    }

    @Test func sparklineMarksFailures() {
        let b = render({ Sparkline([2, 0, 4], failed: [1]).render(in: $0.area, into: &$0) }, width: 3)
        #expect(b.lines == ["▄✗█"])
        #expect(b[1, 0].style.role == .critical)
    }

    @Test func sparklineTwoRowsTall() {
        let b = render({ Sparkline([0, 4, 8]).render(in: $0.area, into: &$0) }, width: 3, height: 2)
        #expect(b.lines == ["  █", " ██"])
    }

    @Test func gaugeWithOverflow() {
        // 10 slots + 5 overflow over 15 cells: 11 pool cells full, the boundary, 2 of 3 overflow cells.
        let b = render({ Gauge(used: 13, capacity: 10, overflowCapacity: 5).render(in: $0.area, into: &$0) }, width: 15)
        #expect(b.lines == ["███████████│▓▓░"])
        #expect(b[10, 0].style.role == .gauge)
        #expect(b[11, 0].style.role == .overflow)
        #expect(b[12, 0].style.role == .overflow)
        #expect(b[14, 0].style.role == .muted)
    }

    /// Issue 10: 9/10 in use with max_overflow 20 filled a third of the bar and read as 30 %.
    @Test func gaugeNineOfTenLooksLikeNinetyPercentWithAMarkerAtPoolSize() {
        for width in [20, 27, 40, 60] {
            let b = render(
                { Gauge(used: 9, capacity: 10, overflowCapacity: 20).render(in: $0.area, into: &$0) }, width: width)
            let line = Array(b.lines[0])
            let full = line.filter { $0 == "█" }.count
            #expect(Double(full) / Double(width) >= 0.6, "\(b.lines[0])")
            // One marker where pool_size ends, free pool cells before it, free overflow after it.
            #expect(line.filter { $0 == "│" }.count == 1, "\(b.lines[0])")
            let marker = line.firstIndex(of: "│")!
            #expect(Double(full) / Double(marker) >= 0.85 && full < marker, "\(b.lines[0])")
            #expect(line[marker + 1..<line.count].allSatisfy { $0 == "░" }, "\(b.lines[0])")
        }
        // Into the overflow: the pool part is full, the overflow cells past the marker fill.
        let over = render(
            { Gauge(used: 20, capacity: 10, overflowCapacity: 20).render(in: $0.area, into: &$0) }, width: 40)
        #expect(over.lines == [String(repeating: "█", count: 29) + "│" + String(repeating: "▓", count: 5) + "░░░░░"])
    }

    @Test func gaugeHalfFullNoOverflow() {
        let b = render({ Gauge(used: 5, capacity: 10, overflowCapacity: 0).render(in: $0.area, into: &$0) }, width: 10)
        #expect(b.lines == ["█████░░░░░"])
    }

    @Test func truncationWithEllipsis() {
        #expect(Text.truncate("postgresql://db1", to: 8) == "postgre…")
        #expect(Text.truncate("short", to: 8) == "short")
        #expect(Text.truncate("abc", to: 0) == "")
        var b = Buffer(width: 6, height: 1)
        #expect(b.write("abcdefgh", x: 0, y: 0, maxWidth: 6) == 6)
        #expect(b.lines == ["abcde…"])
    }

    @Test func wideCharactersTakeTwoColumns() {
        var b = Buffer(width: 6, height: 1)
        b.write("表x", x: 0, y: 0, maxWidth: 6)
        #expect(b.lines == ["表x   "])
        #expect(Text.width(of: "表x") == 3)
        #expect(Text.truncate("表表表", to: 4) == "表…")
    }

    @Test func controlCharactersAreReplaced() {
        var b = Buffer(width: 4, height: 1)
        b.write("a\tb", x: 0, y: 0, maxWidth: 4)
        #expect(b.lines == ["a?b "])
    }

    @Test func asciiFallback() {
        let s = render({ Sparkline([0, 4, 8]).render(in: $0.area, into: &$0) }, width: 3, glyphs: .ascii)
        #expect(s.lines == [" .#"])
        let g = render(
            { Gauge(used: 13, capacity: 10, overflowCapacity: 5).render(in: $0.area, into: &$0) },
            width: 15, glyphs: .ascii)
        #expect(g.lines == ["###########|%%."])
        let box = render({ Block("T").render(in: $0.area, into: &$0) }, width: 6, height: 3, glyphs: .ascii)
        #expect(box.lines == ["+ T -+", "|    |", "+----+"])
        var t = Buffer(width: 4, height: 1, glyphs: .ascii)
        t.write("abcdef", x: 0, y: 0, maxWidth: 4)
        #expect(t.lines == ["abc~"])
        for line in DashboardView.render(Fixtures.state(Fixtures.overflow()), glyphs: .ascii).lines {
            #expect(line.unicodeScalars.allSatisfy { $0.isASCII }, "\(line)")
        }
    }

    @Test func blockDrawsTitleAndBorder() {
        let b = render({ Block("Pool").render(in: $0.area, into: &$0) }, width: 10, height: 3)
        #expect(b.lines == ["┌ Pool ──┐", "│        │", "└────────┘"])
    }

    @Test func layoutSplits() {
        let r = Rect(x: 0, y: 0, width: 80, height: 24)
        let rows = Layout.vertical([.length(1), .fill(1), .length(1)]).split(r)
        #expect(rows.map(\.height) == [1, 22, 1])
        #expect(rows[2].y == 23)
        let cols = Layout.horizontal([.fill(1), .fill(1)]).split(r)
        #expect(cols.map(\.width) == [40, 40])
        let tight = Layout.vertical([.length(10), .min(5), .length(10)]).split(Rect(x: 0, y: 0, width: 1, height: 18))
        #expect(tight.map(\.height) == [10, 5, 3])
        let spaced = Layout.horizontal([.length(2), .fill(1)], spacing: 1).split(Rect(x: 0, y: 0, width: 10, height: 1))
        #expect(spaced.map(\.x) == [0, 3])
        #expect(spaced.map(\.width) == [2, 7])
    }

    @Test func formats() {
        #expect(Format.age(42) == "42s")
        #expect(Format.age(723) == "12m03s")
        #expect(Format.age(7425) == "2h03m")
        #expect(Format.age(3 * 86400 + 4 * 3600) == "3d04h")
        #expect(Format.latency(0.0008) == "800µs")
        #expect(Format.latency(0.0012) == "1.2ms")
        #expect(Format.latency(0.120) == "120ms")
        #expect(Format.latency(1.5) == "1.50s")
        #expect(Format.interval(.milliseconds(250)) == "0.25s")
        #expect(Format.interval(.milliseconds(500)) == "0.5s")
        #expect(Format.interval(.seconds(2)) == "2s")
        #expect(Format.shortTarget("postgresql://u:***@db1:5432/app?sslmode=require") == "db1:5432/app")
    }
}
