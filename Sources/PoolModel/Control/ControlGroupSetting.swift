/// The group whose members may read the control endpoint (`DB_CONTROL_GROUP`).
public enum ControlGroupSetting: Sendable, Equatable, CustomStringConvertible {
    case name(String)
    case gid(UInt32)

    public var description: String {
        switch self {
        case .name(let name): return name
        case .gid(let gid): return "\(gid)"
        }
    }
}
