//! releasekit-sign
