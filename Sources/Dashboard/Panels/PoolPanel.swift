import PoolModel

/// Pool usage: gauge (overflow distinct), counts, and the utilization history.
struct PoolPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let m = context.snapshot.metrics
        var title = [Span("Pool", Style(.title, .bold))]
        if context.state.source == .embeddedProbe {
            // pooltop --url: say whose connections these are, so nobody reads them as a service's.
            let wide = area.width >= 60
            title.append(
                Span(wide ? " · pooltop's own probe pool, not a service's" : " · pooltop's own probe", Style(.muted)))
        }
        if m.isSuspended { title.append(Span(" SUSPENDED", Style(.critical, [.bold, .reverse]))) }
        Block(title: title, trailing: [Span("gen \(m.generation)", Style(.muted))]).render(in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height >= 1 else { return }
        let rows = Layout.vertical([.length(1), .length(1), .length(1), .fill(1)]).split(inner)

        // Gauge + "13/10 +3 130%".
        let pctStyle =
            m.utilization >= 1
            ? Style(.critical, .bold)
            : m.utilization >= Hints.highUtilization
                ? Style(.warning, .bold) : Style(.text, .bold)
        var label = [Span(" \(m.checkedOut)/\(m.size)", Style(.text))]
        if m.overflow > 0 { label.append(Span(" +\(m.overflow)", Style(.overflow, .bold))) }
        label.append(Span(" " + Text.padLeft(Format.percent(m.utilization), to: 4), pctStyle))
        let labelWidth = label.reduce(0) { $0 + Text.width(of: $1.text) }
        let gaugeRow = Layout.horizontal([.fill(1), .length(labelWidth)]).split(rows[0])
        Gauge(used: m.checkedOut, capacity: m.size, overflowCapacity: m.maxOverflow)
            .render(in: gaugeRow[0], into: &buffer)
        buffer.write(label, in: gaugeRow[1])

        func count(_ name: String, _ value: Int, _ bad: Style? = nil) -> [Span] {
            [Span(name + " ", Style(.muted)), Span("\(value)  ", value > 0 && bad != nil ? bad! : Style(.text))]
        }
        buffer.write(
            count("in", m.checkedIn) + count("out", m.checkedOut) + count("ovf", m.overflow, Style(.overflow, .bold))
                + count("wait", m.waiting, Style(.warning, .bold)),
            in: rows[1])
        buffer.write(
            count("timeouts", m.timeouts, Style(.critical, .bold))
                + count("conn fail", m.connectFailures, Style(.critical, .bold))
                + [Span("max_ovf \(m.maxOverflow)", Style(.muted))],
            in: rows[2])

        let history = context.snapshot.utilizationHistory
        let spark = rows[3]
        guard spark.height > 0 else { return }
        let top = max(1.0, history.suffix(spark.width).max() ?? 1)
        Sparkline(history, maximum: top).render(in: spark, into: &buffer)
        if history.isEmpty {
            buffer.write("no utilization history yet", x: spark.x, y: spark.y, maxWidth: spark.width, style: .muted)
        }
    }
}

/// Health of the current target: last check, statistics, response-time history with failures marked.
struct HealthPanel {
    var context: PanelContext

    func render(in area: Rect, into buffer: inout Buffer) {
        let g = buffer.glyphs
        let snap = context.snapshot
        let stats = snap.healthStats
        Block(
            title: [Span("Health", Style(.title, .bold))],
            trailing: [
                Span("\(stats.totalChecks) checks", Style(.muted))
            ]
        ).render(in: area, into: &buffer)
        let inner = Block.inner(of: area).insetHorizontally(by: 1)
        guard inner.height >= 1 else { return }
        let rows = Layout.vertical([.length(1), .length(1), .length(1), .fill(1)]).split(inner)

        if let last = snap.lastHealthCheck {
            var line = [Badge.health(last.healthy, g), Span(" ")]
            if last.healthy { line.append(Span(Format.latency(last.responseTime) + " ", Style(.text))) }
            line.append(Span("at \(context.clock(last.checkedAt))", Style(.muted)))
            if let recovery = last.isInRecovery { line.append(Span(recovery ? " standby" : " primary", Style(.muted))) }
            buffer.write(line, in: rows[0])
        } else {
            buffer.write("no check yet", x: rows[0].x, y: rows[0].y, maxWidth: rows[0].width, style: .muted)
        }
        let rateStyle =
            stats.successRate >= 0.99
            ? Style(.ok)
            : stats.successRate >= 0.9
                ? Style(.warning)
                : Style(
                    .critical, .bold)
        let rate = Double(Int((stats.successRate * 1000).rounded())) / 10
        buffer.write(
            [
                Span("ok ", Style(.muted)), Span("\(rate)%  ", rateStyle),
                Span("avg ", Style(.muted)), Span(Format.latency(stats.avgResponseTime) + "  "),
                Span("p95 ", Style(.muted)), Span(Format.latency(stats.p95ResponseTime)),
            ], in: rows[1])
        if let failed = snap.healthHistory.last(where: { !$0.healthy }) {
            buffer.write(
                [
                    Span("last err ", Style(.muted)),
                    Span(
                        "\(context.clock(failed.checkedAt)) \(Format.oneLine(failed.error ?? "failed"))",
                        Style(.critical)),
                ], in: rows[2])
        } else {
            buffer.write(
                [Span("\(stats.failedChecks) failed · streak \(stats.currentStreak)", Style(.muted))], in: rows[2])
        }
        let history = snap.healthHistory
        let spark = rows[3]
        guard spark.height > 0, !history.isEmpty else { return }
        var failed = Set<Int>()
        for (i, r) in history.enumerated() where !r.healthy { failed.insert(i) }
        let shown = history.suffix(spark.width)
        let top = shown.filter(\.healthy).map(\.responseTime).max() ?? 0
        Sparkline(history.map { $0.healthy ? $0.responseTime : 0 }, maximum: top, failed: failed)
            .render(in: spark, into: &buffer)
    }
}
