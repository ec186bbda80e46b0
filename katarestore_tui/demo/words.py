"""The demo's vocabulary: names, topics and texts chosen to hit escaping and Unicode edge cases."""

FIRST = [
    ("Amélie", "amelie"), ("Bruno", "bruno"), ("Chloé", "chloe"), ("Dmitri", "dmitri"),
    ("Elif", "elif"), ("François", "francois"), ("Grace", "grace"), ("Hiroshi", "hiroshi"),
    ("Inès", "ines"), ("João", "joao"), ("Kwame", "kwame"), ("Łukasz", "lukasz"),
    ("María José", "mariajose"), ("Nadia", "nadia"), ("Olúwaseun", "oluwaseun"),
    ("Priya", "priya"), ("Quentin", "quentin"), ("Rania", "rania"), ("Søren", "soren"),
    ("Thảo", "thao"), ("Uma", "uma"), ("Viktor", "viktor"), ("Wei", "wei"), ("Zoë", "zoe"),
]
LAST = [
    ("Müller", "muller"), ("O'Brien", "obrien"), ("García", "garcia"), ("Nguyễn", "nguyen"),
    ("Kowalski", "kowalski"), ("Dubois", "dubois"), ("Okafor", "okafor"), ("Smith", "smith"),
    ("Yılmaz", "yilmaz"), ("Tanaka", "tanaka"), ("Rossi", "rossi"), ("Andersson", "andersson"),
    ("van der Berg", "vanderberg"), ("Haddad", "haddad"), ("Petrov", "petrov"),
    ("D'Angelo", "dangelo"), ("李", "li"), ("Fernández", "fernandez"),
]
DOMAINS = ["gmail.com", "outlook.com", "katacore.io", "uni-lyon.fr", "proton.me", "yahoo.co.jp"]
TAGS = [
    "python", "javascript", "data, science", "c++", 'say "hi"', "{braces}", "back\\slash",
    "naïve-bayes", "beginner", "ops & sre", "日本語", "NULL", "",
]
LOCALES = ["en-US", "fr-FR", "pt-BR", "de-DE", "ja-JP", "tr-TR", "vi-VN", "pl-PL"]
TZ = ["Europe/Paris", "America/Sao_Paulo", "Asia/Tokyo", "UTC", "Africa/Lagos"]
BIOS = [
    "Développeuse back-end, j'adore PostgreSQL 🐘",
    'Learning to code after 10 years as a "data" analyst.',
    "Teacher.\nLoves chess ♟ and long walks.",
    "Path on my laptop: C:\\Users\\me\\projects",
    "Tab\tseparated\tthoughts",
    "",
]
TOPICS = [
    "Introducción a Python", "SQL for Analysts", "Advanced TypeScript", "Docker & Kubernetes",
    "Machine Learning Basics", "Rust: Ownership et Lifetimes", "Data Visualisation",
    "Web Security 101", "Prisma + PostgreSQL", "Go Concurrency", "Statistiques appliquées",
    "UX Writing", "日本語で学ぶ Git",
]
LEVELS = ["Beginner", "Intermediate", "Advanced", "Masterclass", "Bootcamp"]
LESSON_TITLES = [
    "Welcome & setup", "Variables and types", "Control flow", "Functions", "Working with files",
    "Errors, exceptions & \"gotchas\"", "Testing", "Packaging", "Performance", "Final project",
]
PARAGRAPHS = [
    "In this lesson we cover the basics.\nRead each section, then try the exercise.",
    'Run:\n\n\tpip install requests\n\nthen print("héllo\\tworld") and check the output.',
    "Windows paths need escaping: C:\\Users\\student\\notes.txt — or use raw strings r'…'.",
    "Tip 💡: the quote character \" must be escaped in JSON, the apostrophe ' need not.",
    "Σ(x²) / n — formulas render as text; emoji 🎉 and CJK 漢字 are plain UTF-8.",
    "Checklist:\n- [x] watch the video\n- [ ] do the quiz\n- [ ] post in the forum",
    "Tabs\tand\ttrailing spaces   \nare kept exactly.",
]
DEVICES = ["desktop", "mobile", "tablet"]
CHOICES = ["a", "b", "c", "d"]
FREE_TEXT = [
    "Because the index is used",
    'It prints "None"',
    "O(n log n)",
    "Use a transaction\nthen COMMIT",
    "Je ne sais pas 🤷",
]
