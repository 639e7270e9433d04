import ArgumentParser
import Foundation

/// Comma-separated list options (`--hidden 256,128`, `--sizes 1,7,1000`,
/// `--client-speed 1,1,4`): typed `[Int]`, `[Double]` or `[String]` values,
/// parsed while the command line is parsed, so that a bad element stops the
/// run before MPI starts with one line naming the option, the value and the
/// element:
///
///     The value '1,x' is invalid for '--sizes <sizes>': element 2, 'x', is not an integer
///
/// Elements are trimmed of spaces; an empty element ("1,,2", "") is an error.
/// Range checks (sizes >= 1, factors >= 1, ...) stay in each command's
/// `validate()`, which names the first element out of range.
enum CommaSeparated {
    /// The `transform:` of a list option of `Element`s.
    static func parser<Element: CommaSeparatedElement>(of _: Element.Type) -> @Sendable (String) throws -> [Element] {
        { text in
            try text.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { index, part in
                let item = part.trimmingCharacters(in: .whitespaces)
                guard !item.isEmpty else { throw ValidationError("element \(index + 1) is empty") }
                guard let value = Element(argument: item) else {
                    throw ValidationError("element \(index + 1), '\(item)', is not \(Element.elementDescription)")
                }
                return value
            }
        }
    }

    /// Help ending in "(default: a,b,c)", as ArgumentParser ends the help of
    /// an option without a `transform:` (it shows no default for one with a
    /// transform, so a list option's help says it itself).
    static func help<Element>(_ abstract: String, default values: [Element]) -> ArgumentHelp {
        ArgumentHelp("\(abstract) (default: \(values.map { "\($0)" }.joined(separator: ",")))")
    }
}

/// An element type of a comma-separated list option, with the words that
/// name it in an error ("an integer", "a number").
protocol CommaSeparatedElement: ExpressibleByArgument {
    static var elementDescription: String { get }
}

extension Int: CommaSeparatedElement {
    static var elementDescription: String { "an integer" }
}

extension Double: CommaSeparatedElement {
    static var elementDescription: String { "a number" }
}

extension String: CommaSeparatedElement {
    static var elementDescription: String { "text" }
}
