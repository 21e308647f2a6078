//! Word lists for demo data: multilingual text with accents and emoji, as real accounts have.

/// Chat message bodies.
pub const MESSAGES: &[&str] = &[
    "On se voit à la soirée ce soir ? 🎉",
    "Merci pour les photos 📸",
    "¿Vienes mañana al taller?",
    "Ça marche 👍",
    "Grüße aus Köln!",
    "Je t'envoie le lien du billet 🎟️",
    "Trop bien, à samedi !",
    "Can you send me the deck before the call?",
    "Das Konzert war großartig 🎶",
    "Bonne nuit 🌙",
    "J'arrive dans 10 minutes 🚲",
    "Qué bonito día ☀️",
    "Félicitations pour le lancement 🚀",
    "On partage les frais du resto ?",
    "Je suis à la gare, quai 3",
    "Tu as vu le nouveau cours sur la céramique ?",
    "Happy birthday! 🎂🎈",
    "Voilà le reçu 🧾",
    "Naïve question: où est la salle B ?",
    "Rendez-vous au café, crème brûlée offerte ☕",
    "Děkuji moc!",
    "Olá, tudo bem? 😊",
    "Smørrebrød i morgen?",
    "Ζήτω! 🥂",
    "こんにちは 👋",
    "Заседание перенесли на завтра",
    "مرحبا بالجميع",
    "שבוע טוב",
    "我们明天见 🙂",
    "Ok 👌",
    "Le lien : https://imajin.ai/e/soiree-ete",
    "I'll bring the extension cord 🔌",
    "C'était magique hier soir ✨",
    "Straße gesperrt, ich nehme die U-Bahn",
    "¡Qué pasada de fotos, Zoë!",
];

/// People's display names.
pub const NAMES: &[&str] = &[
    "Zoë Tremblay",
    "André Côté",
    "Mélanie Bouchard",
    "Jürgen Weiß",
    "Siobhán Ní Bhriain",
    "José Núñez",
    "Åsa Lindqvist",
    "Chloé Dubé",
    "Ngozi Okafor",
    "Đặng Thị Mai",
    "François Lefèvre",
    "Ana Beatriz Conceição",
];

/// Words for file names and titles.
pub const TITLES: &[&str] = &[
    "Soirée à Montréal",
    "Été au lac",
    "Café crème",
    "Piñata party",
    "Straße bei Nacht",
    "Cœur de ville",
    "Atelier céramique",
    "Fête de quartier 🎉",
    "Vernissage",
    "Coucher de soleil 🌅",
    "Répétition générale",
    "Brunch du dimanche",
];

/// Short bios.
pub const BIOS: &[&str] = &[
    "Photographe et amateur de café ☕ — Montréal",
    "Building sovereign tools for creators 🛠️",
    "Céramiste, DJ à mes heures, toujours curieux·se",
    "Música, montañas y buena comida 🏔️",
];

/// Nicknames given to contacts.
pub const NICKNAMES: &[&str] = &[
    "Mamie 👵",
    "Coloc",
    "Le boss",
    "Chérie ❤️",
    "Prof de yoga 🧘",
    "Tío Pepe",
    "Bestie ✨",
];

/// Course titles.
pub const COURSES: &[&str] = &[
    "Introduction à la céramique",
    "Photographie de rue",
    "Sovereign data 101",
    "Mixage et mastering 🎧",
    "Écriture créative",
];

/// Event names.
pub const EVENTS: &[&str] = &[
    "Festival d'été 2026",
    "Nuit blanche",
    "Jazz au parc 🎷",
    "Marché de Noël",
    "Conférence Web3 & société",
];

/// Cities and countries.
pub const PLACES: &[(&str, &str)] = &[
    ("Montréal", "CA"),
    ("Québec", "CA"),
    ("Köln", "DE"),
    ("São Paulo", "BR"),
    ("Zürich", "CH"),
    ("Toronto", "CA"),
    ("Ciudad de México", "MX"),
];

/// Tags for media.
pub const TAGS: &[&str] = &[
    "été",
    "famille",
    "concert",
    "amis",
    "voyage",
    "travail",
    "céramique",
    "nuit",
    "food",
];
