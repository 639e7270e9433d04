#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system's text for the error number `code` (`strerror`), such as "No
/// such file or directory", or "error N" when it has none. Pass `errno` right
/// after the failing call, before anything else can change it. It lives in
/// the lowest module that reads files; Training's atomic writes use it too.
public func systemErrorMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}
